# openai-mcp-relay: a small image holding one bundled JavaScript file on Node LTS (alpine).
# Build:  docker build -t openai-mcp-relay .
# Run:    docker run --rm -p 8000:8000 -e OPENAI_API_KEY -e MCP_API_KEY openai-mcp-relay

# --- build: bundle src/ and undici into dist/openai-mcp-relay.cjs ---------------------------
FROM node:24-alpine AS build
WORKDIR /src
COPY package.json package-lock.json ./
# Scripts are skipped here (the build below runs once the sources are in).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts ./scripts
COPY src ./src
RUN npm run build

# --- runtime: Node and the bundle; no node_modules, no sources, no build tools --------------
FROM node:24-alpine AS runtime
LABEL org.opencontainers.image.title="openai-mcp-relay" \
      org.opencontainers.image.description="MCP server with one tool, generate, relaying prompts to OpenAI-compatible APIs" \
      org.opencontainers.image.licenses="MIT"
ENV NODE_ENV=production \
    MCP_TRANSPORT=streamable-http \
    HOST=0.0.0.0 \
    PORT=8000
WORKDIR /app
COPY --from=build --chown=root:root /src/dist/openai-mcp-relay.cjs /app/openai-mcp-relay.cjs
# The official image's unprivileged "node" user, by number so Kubernetes' runAsNonRoot can
# verify it; the bundle stays root-owned and read-only to it.
USER 1000:1000
EXPOSE 8000
# No curl in the image: Node's own fetch asks /health (which needs no key).
HEALTHCHECK --interval=30s --timeout=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8000)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Exec form: node is PID 1 and receives SIGTERM itself, so shutdown drains gracefully.
ENTRYPOINT ["node", "/app/openai-mcp-relay.cjs"]
