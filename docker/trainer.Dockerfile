# tfjs-node-gpu 4.22 links libtensorflow 2.9: CUDA 11.x with cuDNN 8.
FROM nvidia/cuda:11.8.0-cudnn8-runtime-ubuntu22.04
RUN apt-get update && apt-get install -y --no-install-recommends curl ca-certificates build-essential python3 \
  && curl -fsSL https://deb.nodesource.com/setup_20.x | bash - \
  && apt-get install -y --no-install-recommends nodejs && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
COPY apps/web/package.json apps/web/
COPY apps/trainer/package.json apps/trainer/
COPY packages/db/package.json packages/db/
COPY packages/ml/package.json packages/ml/
COPY packages/ui/package.json packages/ui/
# Optional dependencies included: @tensorflow/tfjs-node-gpu downloads libtensorflow here (network at build time).
RUN npm ci --no-audit --no-fund
COPY . .
CMD ["npx", "tsx", "apps/trainer/src/main.ts"]
