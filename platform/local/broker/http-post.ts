// The broker's delivery client moved to platform/http/post.ts (shared with HttpEventBus); this path stays for importers.
export { createHttpPost, type HttpPostOptions, type Post, type PostResult } from "../../http/post.ts";
