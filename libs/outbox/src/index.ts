export * from './outbox.repository';
export * from './leader-lease';
