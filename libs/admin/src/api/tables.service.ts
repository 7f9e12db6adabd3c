import { Injectable } from '@nestjs/common';
import { CaptureSetup, SchemaChangeSetup } from '@tributary/setup';
import { AdoptTableDto, AlterTableDto, CapturedTableDto, CaptureRemovedDto, CaptureResultDto, SchemaChangeResultDto } from './tables.dto';

/** Capture per table through the setup layer. */
@Injectable()
export class TablesService {
  constructor(
    private readonly tables: CaptureSetup,
    private readonly schemaChanges: SchemaChangeSetup,
  ) {}

  async list(sourceId: string): Promise<CapturedTableDto[]> {
    return (await this.tables.list(sourceId)).map((table) => CapturedTableDto.from(sourceId, table));
  }

  async get(sourceId: string, table: string): Promise<CapturedTableDto> {
    return CapturedTableDto.from(sourceId, await this.tables.get(sourceId, table));
  }

  async enable(sourceId: string, table: string): Promise<CaptureResultDto> {
    return CaptureResultDto.fromResult(await this.tables.capture(sourceId, table));
  }

  async refresh(sourceId: string, table: string): Promise<CaptureResultDto> {
    return CaptureResultDto.fromResult(await this.tables.refresh(sourceId, table));
  }

  async alter(sourceId: string, table: string, body: AlterTableDto): Promise<SchemaChangeResultDto> {
    const { alter, dryRun, resync, actor } = body;
    return SchemaChangeResultDto.fromOutcome(await this.schemaChanges.alter(sourceId, table, alter, { dryRun, resync, requestedBy: actor ?? null }));
  }

  async adopt(sourceId: string, table: string, body: AdoptTableDto): Promise<SchemaChangeResultDto> {
    const { renames, dryRun, resync, actor } = body;
    return SchemaChangeResultDto.fromOutcome(await this.schemaChanges.adopt(sourceId, table, renames ?? {}, { dryRun, resync, requestedBy: actor ?? null }));
  }

  /** @returns null when the triggers were removed; what was left behind otherwise (forced, source unreachable). */
  async disable(sourceId: string, table: string, force: boolean): Promise<CaptureRemovedDto | null> {
    const removed = await this.tables.uncapture(sourceId, table, { force });
    return removed.triggersRemoved ? null : removed;
  }
}
