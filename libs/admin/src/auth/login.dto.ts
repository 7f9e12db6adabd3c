import { IsNotEmpty, IsString, MaxLength } from 'class-validator';
import { IsOmittable } from '../http/validation';

/** `POST /login`: the admin token, from the form or as JSON, and where to go next. */
export class LoginDto {
  @IsString()
  @IsNotEmpty()
  @MaxLength(1024)
  token!: string;

  @IsOmittable()
  @IsString()
  @MaxLength(2048)
  next?: string;
}
