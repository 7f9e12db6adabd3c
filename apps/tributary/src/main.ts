import 'reflect-metadata';
import { bootstrap } from '@tributary/platform';
import { AllInOneModule } from './all-in-one.module';

void bootstrap('tributary', AllInOneModule, { http: 'admin' });
