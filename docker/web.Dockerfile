FROM node:20-bookworm-slim
WORKDIR /app
ENV NEXT_TELEMETRY_DISABLED=1 ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json .npmrc ./
COPY apps/web/package.json apps/web/
COPY apps/trainer/package.json apps/trainer/
COPY packages/db/package.json packages/db/
COPY packages/ml/package.json packages/ml/
COPY packages/ui/package.json packages/ui/
RUN npm ci --no-audit --no-fund --omit=optional
COPY . .
RUN cd apps/web && npx next build
WORKDIR /app/apps/web
EXPOSE 3000
CMD ["npx", "next", "start"]
