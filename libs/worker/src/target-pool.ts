import { TargetRecord } from '@tributary/control';
import { Target, TargetRegistry } from '@tributary/targets';

/** One live Target per configured target, rebuilt when its configuration changes. */
export class TargetPool {
  private readonly targets = new Map<string, { record: string; target: Target }>();

  constructor(private readonly registry: TargetRegistry) {}

  async get(record: TargetRecord): Promise<Target> {
    const targetId = record.id;
    const fingerprint = fingerprintOf(record);
    const cached = this.targets.get(targetId);
    if (cached && cached.record === fingerprint) return cached.target;
    if (cached) await cached.target.close().catch(() => undefined);
    const target = this.registry.create({ kind: record.kind, url: record.url, options: record.options });
    this.targets.set(targetId, { record: fingerprint, target });
    return target;
  }

  async close(): Promise<void> {
    await Promise.all([...this.targets.values()].map(({ target }) => target.close().catch(() => undefined)));
    this.targets.clear();
  }
}

function fingerprintOf(record: TargetRecord): string {
  return JSON.stringify([record.kind, record.url, record.options]);
}
