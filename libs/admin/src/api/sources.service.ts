import { Injectable } from '@nestjs/common';
import { SourceSetup } from '@tributary/setup';
import { SourceDto } from './sources.dto';

/** Sources through the setup layer, shown without credentials. */
@Injectable()
export class SourcesService {
  constructor(private readonly sources: SourceSetup) {}

  async create(id: string, url: string): Promise<SourceDto> {
    const source = await this.sources.create(id, url);
    return SourceDto.from({ source, tables: [], routes: [] });
  }

  async list(): Promise<SourceDto[]> {
    return (await this.sources.list()).map(SourceDto.from);
  }

  async get(id: string): Promise<SourceDto> {
    return SourceDto.from(await this.sources.get(id));
  }

  async delete(id: string): Promise<void> {
    await this.sources.delete(id);
  }
}
