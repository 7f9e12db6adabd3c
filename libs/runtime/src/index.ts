export { LeaderLease } from './leader-lease';
export { LeaseLoop } from './lease-loop';
export { PeriodicTask } from './periodic-task';
export { settledWithin } from './settled-within';
