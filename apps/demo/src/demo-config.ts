import { z } from 'zod';

/** The demo's own settings; everything else comes from the normal Tributary config. */
const schema = z.object({
  DEMO_SOURCE_URL: z.string().url().default('mysql://root@127.0.0.1:3306/tributary_demo'),
  DEMO_POSTGRES_URL: z.string().url().default('postgres://postgres@127.0.0.1:5432/tributary_demo'),
  DEMO_MYSQL_TARGET_URL: z.string().url().default('mysql://root@127.0.0.1:3306/tributary_demo_copy'),
  DEMO_SQLITE_PATH: z.string().min(1).default('tributary-demo.sqlite'),
  /** Stop after this many seconds (0: run until Ctrl+C). */
  DEMO_SECONDS: z.coerce.number().int().min(0).default(0),
});

export type DemoConfig = z.infer<typeof schema>;

export function loadDemoConfig(env: Record<string, string | undefined> = process.env): DemoConfig {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    throw new Error(`invalid demo environment: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  return parsed.data;
}
