export * from './hole-tracker';
export * from './route-feed';
export * from './source-relay';
export * from './relay.service';
export * from './relay.module';
export * from './drift-monitor';
