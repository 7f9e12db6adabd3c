export * from './databases';
export * from './wait';
