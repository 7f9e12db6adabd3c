export * from './copy-chunk';
export * from './outbox.repository';
export * from './outbox-writes';
export * from './recent-deletes';
