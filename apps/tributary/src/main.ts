import 'reflect-metadata';
import { bootstrap } from '@tributary/platform';
import { AllInOneModule } from './app.module';

void bootstrap('tributary', AllInOneModule, { http: true });
