export * from './errors';
export * from './secrets';
export type { InitialCopy } from './initial-copy';
export * from './source-setup';
export * from './capture-setup';
export * from './target-setup';
export * from './route-setup';
export * from './replication-setup';
export * from './schema-change';
