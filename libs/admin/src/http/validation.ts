import { BadRequestException, ValidationError, ValidationPipe } from '@nestjs/common';
import { ValidateIf } from 'class-validator';

/**
 * A body field that may be left out but, when given, must pass its rules:
 * unlike @IsOptional(), `null` is validated (and refused) rather than let
 * through to be stored (`{"enabled": null}` ended in a 500 at the database).
 */
export function IsOmittable(): PropertyDecorator {
  return ValidateIf((_object: object, value: unknown) => value !== undefined);
}

/** One bad field: a dotted path (`columns.0.name`) and why. */
export interface FieldProblem {
  field: string;
  message: string;
}

/** Flattens class-validator's tree into one entry per broken rule, nested fields as dotted paths. */
export function fieldProblems(errors: ValidationError[], parent = ''): FieldProblem[] {
  return errors.flatMap((error) => {
    const field = parent && error.property ? `${parent}.${error.property}` : parent || error.property || '(body)';
    const own = Object.values(error.constraints ?? {}).map((message) => ({ field, message }));
    return [...own, ...fieldProblems(error.children ?? [], field)];
  });
}

/** One line naming every bad field: "url must be a mysql:// URL; columns.0.name must be a string". */
export function summarise(problems: FieldProblem[]): string {
  return problems
    .map(({ field, message }) => {
      const leaf = field.split('.').pop() ?? field;
      return message.startsWith(`${leaf} `) ? `${field}${message.slice(leaf.length)}` : `${field}: ${message}`;
    })
    .join('; ');
}

/** The 400 a bad body, query or path parameter gets: a summary and `details`, never the rejected values. */
export function validationException(errors: ValidationError[]): BadRequestException {
  const details = fieldProblems(errors);
  return new BadRequestException({ statusCode: 400, error: 'Bad Request', message: summarise(details), details });
}

/**
 * The admin's global pipe (APP_PIPE): DTOs are validated with
 * class-validator, unknown properties are refused rather than silently
 * dropped, and payloads become DTO instances.
 */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    validationError: { target: false, value: false },
    exceptionFactory: validationException,
  });
}
