/** Rows of the control schema, as the rest of Tributary sees them. */

export interface SourceRecord {
  id: string;
  /** Secret: carries credentials. Never returned by the API or logged unredacted. */
  url: string;
}

export interface TargetRecord {
  id: string;
  kind: string;
  /** Secret, like SourceRecord.url. */
  url: string;
  options: Record<string, unknown>;
}

export interface RouteRecord {
  id: string;
  sourceId: string;
  table: string;
  targetId: string;
  targetTable: string;
  enabled: boolean;
}

export interface CapturedTableRecord {
  sourceId: string;
  table: string;
  schemaHash: string;
}

/** The relay's durable position for one source (see libs/relay for the meaning of holes). */
export interface RelayStateRecord {
  sourceId: string;
  epoch: number;
  watermark: number;
  high: number;
  holes: unknown;
  leader: string | null;
}

export interface RouteProgressRecord {
  routeId: string;
  watermark: number;
  maxSeq: number;
  appliedTotal: number;
  lastChangeTs: number | null;
  lastAppliedAt: Date | null;
  lastError: string | null;
  lastErrorAt: Date | null;
}

export interface DeadLetterInput {
  routeId: string;
  seq: number;
  table: string;
  op: string;
  change: unknown;
  reason: string;
  code: string | null;
}
