import { BadRequestException, NotFoundException } from '@nestjs/common';
import { errorResponse } from './error-response';
import { parseErrorToHttp } from './body-parsers';

describe('errorResponse', () => {
  it('passes HttpException JSON through', () => {
    const body = { statusCode: 400, error: 'Bad Request', message: 'url: bad', details: [{ field: 'url', message: 'bad' }] };
    expect(errorResponse(new BadRequestException(body), 'r1')).toEqual({ status: 400, body, unexpected: false });
    expect(errorResponse(new NotFoundException('no route x'), 'r1').body).toEqual({ statusCode: 404, error: 'Not Found', message: 'no route x' });
  });

  it('hides everything about an unexpected error but the request id', () => {
    const error = new Error('connect failed mysql://root:hunter2@db:3306/x');
    const { status, body, unexpected } = errorResponse(error, 'req-123');
    expect(status).toBe(500);
    expect(unexpected).toBe(true);
    expect(body).toEqual({ statusCode: 500, error: 'Internal Server Error', message: 'internal error', requestId: 'req-123' });
    expect(errorResponse('a string', 'r').status).toBe(500);
  });

  it('keeps exposed client errors from express middleware', () => {
    const error = Object.assign(new Error('unsupported charset "X"'), { status: 415, expose: true });
    expect(errorResponse(error, 'r')).toMatchObject({ status: 415, body: { statusCode: 415, message: 'unsupported charset "X"' } });
    const internal = Object.assign(new Error('secret detail'), { status: 500, expose: false });
    expect(errorResponse(internal, 'r').body).toMatchObject({ message: 'internal error' });
  });

  it('turns body-parser errors into clear 4xx', () => {
    const malformed = Object.assign(new SyntaxError("Unexpected token 'x'"), { type: 'entity.parse.failed', status: 400 });
    expect(errorResponse(parseErrorToHttp(malformed), 'r')).toMatchObject({
      status: 400,
      body: { message: "request body is not valid JSON: Unexpected token 'x'" },
    });
    const large = Object.assign(new Error('request entity too large'), { type: 'entity.too.large', status: 413 });
    expect(errorResponse(parseErrorToHttp(large), 'r').status).toBe(413);
  });
});
