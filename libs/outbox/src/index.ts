export * from './outbox.repository';
export * from './leader-lease';
export * from './lease-loop';
