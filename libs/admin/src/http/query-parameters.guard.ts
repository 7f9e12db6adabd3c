import { BadRequestException, CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import { Request } from 'express';
import { isApiPath } from '../auth/public-paths';

/** A handler argument as @Query() records it: `data` names one parameter, or is absent for a whole DTO. */
interface RouteArgument {
  data?: unknown;
}

/**
 * One rule for query parameters on /api: an unknown one is a 400, never
 * ignored (a misspelt `limt=5` must not silently return the default page).
 * Endpoints whose query is a DTO are checked by the ValidationPipe
 * (forbidNonWhitelisted); this guard covers the others: those that name
 * their parameters, and those that take none.
 */
@Injectable()
export class QueryParametersGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    const req = context.switchToHttp().getRequest<Request>();
    if (!isApiPath(req.path)) return true;
    const given = Object.keys(req.query ?? {});
    if (given.length === 0) return true;
    const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, context.getClass(), context.getHandler().name) ?? {}) as Record<string, RouteArgument>;
    const queries = Object.entries(args).filter(([key]) => Number(key.split(':')[0]) === RouteParamtypes.QUERY).map(([, arg]) => arg);
    if (queries.some((arg) => arg.data === undefined)) return true;
    const known = queries.map((arg) => String(arg.data));
    const unknown = given.filter((name) => !known.includes(name));
    if (unknown.length === 0) return true;
    throw new BadRequestException({
      statusCode: 400,
      error: 'Bad Request',
      message: `unknown query parameter ${unknown.map((name) => JSON.stringify(name)).join(', ')}: ${known.length > 0 ? `this endpoint takes ${known.join(', ')}` : 'this endpoint takes none'}`,
    });
  }
}
