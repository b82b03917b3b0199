export * from "./build-model";
export * from "./classifier-parts";
export * from "./fs-io-handler";
export * from "./pretrained";
export * from "./weight-order";
export { makeDivisible, BN_MOMENTUM, BN_EPSILON } from "./layers-util";
export type { MobileNetV2Options } from "./mobilenet-v2";
export type { ResNetOptions } from "./resnet";
export type { SmallCnnOptions } from "./small-cnn";
