// What the apps and verify use; the rest of the worker is its own business.
export { WorkerModule } from './worker.module';
