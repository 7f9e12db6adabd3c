# One image for every Tributary role; the command picks the app.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY apps apps
COPY libs libs
COPY db db
COPY bench bench
COPY scripts scripts
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production
# A larger young generation for every role: a worker applying a backlog makes short-lived rows fast,
# and with 32 MB semi-spaces (V8: 16) it spends ~20 % less CPU collecting them (docs/benchmarks.md).
ENV NODE_OPTIONS="--max-semi-space-size=32"
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
USER node
CMD ["node", "dist/apps/tributary/src/main.js"]
