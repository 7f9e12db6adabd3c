export * from './copy-chunk';
export * from './outbox.repository';
