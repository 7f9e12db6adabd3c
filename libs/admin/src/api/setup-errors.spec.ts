import { HttpException } from '@nestjs/common';
import { CaptureError } from '@tributary/capture';
import { InvalidIdentifierError } from '@tributary/model';
import { ConflictError, InvalidInputError, NotFoundError, SetupError, UnavailableError, UnusableInputError } from '@tributary/setup';
import { TargetConfigError } from '@tributary/targets';
import { toHttpException } from './setup-errors';

function answer(error: unknown): { status: number; body: unknown } {
  const http = toHttpException(error);
  if (!(http instanceof HttpException)) throw new Error('expected an HttpException');
  return { status: http.getStatus(), body: http.getResponse() };
}

describe('toHttpException', () => {
  it.each([
    [new InvalidInputError('table must be 1-64 characters', 'table'), 400, 'Bad Request'],
    [new NotFoundError('source shop does not exist', 'sourceId'), 404, 'Not Found'],
    [new ConflictError('route r already exists', 'id'), 409, 'Conflict'],
    [new UnusableInputError('cannot connect to the source database: connect ECONNREFUSED', 'url'), 422, 'Unprocessable Entity'],
    [new UnavailableError('target pg is unreachable', 'targetId'), 502, 'Bad Gateway'],
  ])('maps %p by its type', (error, status, reason) => {
    expect(answer(error)).toEqual({
      status,
      body: { statusCode: status, error: reason, message: error.message, details: [{ field: error.field, message: error.message }] },
    });
  });

  it('treats the base SetupError as bad input, with no details when no field is known', () => {
    expect(answer(new SetupError('the captured schema is missing'))).toEqual({
      status: 400,
      body: { statusCode: 400, error: 'Bad Request', message: 'the captured schema is missing', details: [] },
    });
  });

  it("maps the libraries' own refusals to 400 should one arrive unwrapped", () => {
    for (const error of [new InvalidIdentifierError('table', 'a;b'), new CaptureError('no usable key'), new TargetConfigError('unknown option')]) {
      expect(answer(error).status).toBe(400);
    }
  });

  it('leaves everything else to the global error filter (a 500 that shows nothing)', () => {
    expect(toHttpException(new Error('ECONNREFUSED mysql://root:pw@db'))).toBeNull();
    expect(toHttpException('text')).toBeNull();
  });
});
