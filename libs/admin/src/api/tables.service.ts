import { Injectable } from '@nestjs/common';
import { CaptureSetup } from '@tributary/setup';
import { CapturedSchemaDto, CapturedTableDto, CaptureRemovedDto, CaptureResultDto } from './tables.dto';

/** Capture per table through the setup layer. */
@Injectable()
export class TablesService {
  constructor(private readonly tables: CaptureSetup) {}

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

  async alter(sourceId: string, table: string, alter: string): Promise<CapturedSchemaDto> {
    const { schema, warnings } = await this.tables.alter(sourceId, table, alter);
    return CapturedSchemaDto.from(schema, warnings);
  }

  /** @returns null when the triggers were removed; what was left behind otherwise (forced, source unreachable). */
  async disable(sourceId: string, table: string, force: boolean): Promise<CaptureRemovedDto | null> {
    const removed = await this.tables.uncapture(sourceId, table, { force });
    return removed.triggersRemoved ? null : removed;
  }
}
