export * from './databases';
export * from './wait';
export * from './processes';
export * from './redis-server';
export * from './tcp-proxy';
export * from './workload';
export * from './pipeline';
