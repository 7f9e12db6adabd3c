import { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';

/** Where the OpenAPI document and its UI are served; behind the admin token like the API. */
export const DOCS_PATH = 'docs';

/** Swagger UI at /docs, the document at /docs-json (and /docs-yaml), every operation needing the bearer token. */
export function setupDocs(app: INestApplication): void {
  const config = new DocumentBuilder()
    .setTitle('Tributary admin API')
    .setDescription(
      'Configuration (sources, captured tables, targets, routes), route status and dead letters. ' +
        'Every call needs the admin token: Authorization: Bearer <ADMIN_TOKEN>.',
    )
    .setVersion('1')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'the ADMIN_TOKEN' }, 'bearer')
    .addSecurityRequirements('bearer')
    .build();
  // Built on first request: controllers are all registered by then and startup stays fast.
  SwaggerModule.setup(DOCS_PATH, app, () => SwaggerModule.createDocument(app, config), {
    jsonDocumentUrl: `${DOCS_PATH}-json`,
    yamlDocumentUrl: `${DOCS_PATH}-yaml`,
    customSiteTitle: 'Tributary admin API',
  });
}
