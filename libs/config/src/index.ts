export * from './config';
export * from './config.module';
export * from './redact';
export * from './redis-location';
