export * from './change-decoder';
export * from './schema-cache';
export * from './target-pool';
export * from './route-consumer';
export * from './retry-outcomes';
export * from './worker.service';
export * from './worker.module';
export * from './route-plan';
