export * from './hole-tracker';
export * from './job-planner';
export * from './source-relay';
export * from './relay.service';
export * from './relay.module';
export * from './drift-monitor';
