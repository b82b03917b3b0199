export declare function copyOsdImages(options?: { quiet?: boolean; ifMissing?: boolean }): void;
