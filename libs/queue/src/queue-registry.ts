import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { QueuedJobData, routeQueueName } from './change-job';

/** One BullMQ queue per route, created on first use and shared by the process. */
export class QueueRegistry {
  private readonly queues = new Map<string, Queue<QueuedJobData>>();

  constructor(
    private readonly connection: Redis,
    readonly prefix: string,
  ) {}

  queueFor(routeId: string): Queue<QueuedJobData> {
    let queue = this.queues.get(routeId);
    if (!queue) {
      queue = new Queue<QueuedJobData>(routeQueueName(routeId), {
        connection: this.connection,
        prefix: this.prefix,
        defaultJobOptions: {
          // Completed jobs are kept only for the dashboard; the outbox and the
          // target checkpoints are the durable record (invariant 1).
          removeOnComplete: { count: 20 },
          removeOnFail: { count: 1000 },
        },
      });
      this.queues.set(routeId, queue);
    }
    return queue;
  }

  /** Jobs not yet finished: what backpressure counts (invariant 7). */
  async backlog(routeId: string): Promise<number> {
    const counts = await this.queueFor(routeId).getJobCounts('wait', 'active', 'delayed', 'prioritized', 'paused');
    return Object.values(counts).reduce((sum, n) => sum + n, 0);
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((queue) => queue.close()));
    this.queues.clear();
  }
}
