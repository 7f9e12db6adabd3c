import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { AdminModule } from '@tributary/admin';
import { bootstrap, CoreModule } from '@tributary/platform';

@Module({ imports: [CoreModule, AdminModule] })
class AdminAppModule {}

void bootstrap('admin', AdminAppModule, { http: 'admin' });
