import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { catchError, Observable, throwError } from 'rxjs';
import { toHttpException } from './setup-errors';

/** Turns the setup layer's typed errors into HTTP answers (toHttpException) for the controllers it decorates. */
@Injectable()
export class SetupErrorsInterceptor implements NestInterceptor {
  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(catchError((error: unknown) => throwError(() => toHttpException(error) ?? error)));
  }
}
