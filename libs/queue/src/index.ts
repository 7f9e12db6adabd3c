export * from './change-job';
export * from './signals';
export * from './redis';
export * from './queue-registry';
export * from './redis-marker';
export * from './queue.module';
