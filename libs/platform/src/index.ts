export * from './core.module';
export * from './bootstrap';
export * from './all-in-one.module';
