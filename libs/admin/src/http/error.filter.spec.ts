import { ArgumentsHost, ConflictException } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { createLogger } from '@tributary/logger';
import { ErrorFilter } from './error.filter';

/** A response double that records what the filter sent. */
function exchange() {
  const sent: { status?: number; body?: unknown } = {};
  const res = {
    headersSent: false,
    status(code: number) {
      sent.status = code;
      return this;
    },
    json(body: unknown) {
      sent.body = body;
      return this;
    },
    end() {
      return this;
    },
  };
  const req = { method: 'POST', originalUrl: '/api/sources?token=abc' };
  const host = {
    switchToHttp: () => ({ getRequest: <T>() => req as unknown as T, getResponse: <T>() => res as unknown as T }),
  } as unknown as ArgumentsHost;
  return { host, sent };
}

describe('ErrorFilter', () => {
  const filter = new ErrorFilter(createLogger('silent'), { httpAdapter: undefined } as unknown as HttpAdapterHost);

  it('answers an unexpected error with 500, a request id and nothing else', () => {
    const { host, sent } = exchange();
    filter.catch(new Error('ER_ACCESS_DENIED mysql://root:hunter2@db/x\n    at Connection.query (/app/x.js:1:1)'), host);
    expect(sent.status).toBe(500);
    expect(sent.body).toEqual({ statusCode: 500, error: 'Internal Server Error', message: 'internal error', requestId: expect.any(String) });
  });

  it('passes an HttpException through unchanged', () => {
    const { host, sent } = exchange();
    filter.catch(new ConflictException({ statusCode: 409, error: 'Conflict', message: 'route r1 exists' }), host);
    expect(sent).toEqual({ status: 409, body: { statusCode: 409, error: 'Conflict', message: 'route r1 exists' } });
  });
});
