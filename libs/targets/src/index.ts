export * from './target';
export * from './errors';
export { TargetRegistry, defaultTargetRegistry } from './registry';
export { PostgresTarget, postgresTargetFactory } from './postgres.target';
export { MysqlTarget, mysqlTargetFactory } from './mysql.target';
export type { SqlTargetOptions } from './sql-target';
