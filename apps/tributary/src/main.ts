import 'reflect-metadata';
import { AllInOneModule, bootstrap } from '@tributary/platform';

void bootstrap('tributary', AllInOneModule, { http: 'admin' });
