export * from './types';
export * from './control-database';
export * from './catalog.repository';
export * from './progress.repository';
export * from './dead-letter.repository';
export * from './control.module';
export * from './snapshot.repository';
export * from './verify-run.repository';
