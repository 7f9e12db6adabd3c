import { ArrayMinSize, IsInt, IsString, Matches, Min, ValidateNested } from 'class-validator';
import { Type } from 'class-transformer';
import { BadRequestException } from '@nestjs/common';
import { createValidationPipe, fieldProblems, summarise } from './validation';

class ColumnDto {
  @IsString()
  name!: string;
}

class RouteDto {
  @Matches(/^mysql:\/\//, { message: 'url must be a mysql:// URL' })
  url!: string;

  @IsInt()
  @Min(1)
  batch!: number;

  @ValidateNested({ each: true })
  @ArrayMinSize(1)
  @Type(() => ColumnDto)
  columns!: ColumnDto[];
}

async function rejection(body: unknown): Promise<Record<string, unknown>> {
  try {
    await createValidationPipe().transform(body, { type: 'body', metatype: RouteDto });
  } catch (error) {
    expect(error).toBeInstanceOf(BadRequestException);
    return (error as BadRequestException).getResponse() as Record<string, unknown>;
  }
  throw new Error('expected a validation error');
}

describe('validation pipe', () => {
  it('lists each bad field, nested ones as dotted paths, and refuses unknown properties', async () => {
    const response = await rejection({ url: 'postgres://u:secret@h/db', batch: 0, columns: [{ name: 'a' }, { name: 7 }], extra: true });
    expect(response).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    expect(response.details).toEqual(
      expect.arrayContaining([
        { field: 'url', message: 'url must be a mysql:// URL' },
        { field: 'batch', message: 'batch must not be less than 1' },
        { field: 'columns.1.name', message: 'name must be a string' },
        { field: 'extra', message: 'property extra should not exist' },
      ]),
    );
    expect(response.message).toContain('url must be a mysql:// URL');
    expect(response.message).toContain('columns.1.name must be a string');
    expect(JSON.stringify(response)).not.toContain('secret');
  });

  it('turns a valid payload into the DTO', async () => {
    const value = await createValidationPipe().transform({ url: 'mysql://h/db', batch: 3, columns: [{ name: 'a' }] }, { type: 'body', metatype: RouteDto });
    expect(value).toBeInstanceOf(RouteDto);
    expect(value.columns[0]).toBeInstanceOf(ColumnDto);
  });
});

describe('fieldProblems and summarise', () => {
  it('names the body itself when the error has no property', () => {
    expect(fieldProblems([{ property: '', constraints: { x: 'an unknown value was passed' }, children: [] }])).toEqual([
      { field: '(body)', message: 'an unknown value was passed' },
    ]);
    expect(summarise([{ field: 'a.b', message: 'b must be a string' }, { field: 'c', message: 'property c should not exist' }])).toBe(
      'a.b must be a string; c: property c should not exist',
    );
  });
});
