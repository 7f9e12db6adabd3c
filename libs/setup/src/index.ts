export * from './replication-setup';
