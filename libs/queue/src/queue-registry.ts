import { Queue } from 'bullmq';
import { QueuedJobData, sourceQueueName } from './change-job';
import { RedisClient } from './redis';

/** Job states in which a job still has work to do (everything but completed, failed and gone). */
const UNFINISHED: ReadonlySet<string> = new Set(['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'paused']);

/** One BullMQ queue per source (sourceQueueName), created on first use and shared by the process. */
export class QueueRegistry {
  private readonly queues = new Map<string, Queue<QueuedJobData>>();

  constructor(
    private readonly connection: RedisClient,
    readonly prefix: string,
  ) {}

  queueFor(sourceId: string): Queue<QueuedJobData> {
    let queue = this.queues.get(sourceId);
    if (!queue) {
      queue = new Queue<QueuedJobData>(sourceQueueName(sourceId), {
        connection: this.connection,
        prefix: this.prefix,
        defaultJobOptions: {
          // Completed jobs are kept only for the dashboard; the outbox and the
          // target checkpoints are the durable record (invariant 1).
          removeOnComplete: { count: 100 },
          removeOnFail: { count: 1000 },
        },
      });
      this.queues.set(sourceId, queue);
    }
    return queue;
  }

  /** For each of `jobIds` (in the source's queue): is it still to be done? A job Redis no longer has is not. */
  async unfinished(sourceId: string, jobIds: readonly string[]): Promise<boolean[]> {
    const queue = this.queueFor(sourceId);
    // One round trip for all of them: ioredis pipelines concurrent commands on its connection.
    const states = await Promise.all(jobIds.map((id) => queue.getJobState(id)));
    return states.map((state) => UNFINISHED.has(state));
  }

  /** The unfinished jobs of the source's queue (a relay taking the lead adopts its routes' range jobs). */
  async unfinishedJobs(sourceId: string): Promise<Array<{ id: string; data: QueuedJobData }>> {
    const jobs = await this.queueFor(sourceId).getJobs(['wait', 'active', 'delayed', 'prioritized', 'paused']);
    return jobs.filter((job) => job?.id !== undefined).map((job) => ({ id: job.id!, data: job.data }));
  }

  /**
   * Removes the route's jobs that wait in its source's queue (a route deleted
   * or created anew must not apply an old route's jobs); one being applied
   * right now cannot be removed and finishes. The outbox still has every change.
   */
  async removeRouteJobs(sourceId: string, routeId: string): Promise<number> {
    const jobs = await this.queueFor(sourceId).getJobs(['wait', 'delayed', 'prioritized', 'paused']);
    let removed = 0;
    for (const job of jobs) {
      // A transaction job (several routes) stays: the relay's feed of the target follows its routes.
      if (!job?.data || !('routeId' in job.data) || job.data.routeId !== routeId) continue;
      await job.remove().catch(() => undefined);
      removed++;
    }
    return removed;
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((queue) => queue.close()));
    this.queues.clear();
  }
}
