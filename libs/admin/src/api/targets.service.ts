import { Injectable } from '@nestjs/common';
import { TargetSetup } from '@tributary/setup';
import { CreateTargetDto, TargetDto, TargetTestDto, UpdateTargetDto } from './targets.dto';

/** Targets through the setup layer, shown without credentials. */
@Injectable()
export class TargetsService {
  constructor(private readonly targets: TargetSetup) {}

  async create(body: CreateTargetDto): Promise<TargetDto> {
    const target = await this.targets.create({ id: body.id, kind: body.kind, url: body.url, options: body.options ?? {} });
    return TargetDto.from({ target, routes: [] });
  }

  async list(): Promise<TargetDto[]> {
    return (await this.targets.list()).map(TargetDto.from);
  }

  async get(id: string): Promise<TargetDto> {
    return TargetDto.from(await this.targets.get(id));
  }

  async update(id: string, body: UpdateTargetDto): Promise<TargetDto> {
    await this.targets.update(id, { url: body.url, options: body.options });
    return this.get(id);
  }

  async delete(id: string): Promise<void> {
    await this.targets.delete(id);
  }

  async test(id: string): Promise<TargetTestDto> {
    return TargetTestDto.from(await this.targets.test(id));
  }
}
