export * from './schema';
export * from './change';
export * from './identifiers';
export * from './codec';
export * from './text';
export * from './partitions';
