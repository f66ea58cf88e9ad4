// Object.hasOwn for every runtime: the CloudFront Functions runtime (cloudfront-js-2.0) has
// Object.prototype.hasOwnProperty but not Object.hasOwn.
// https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/functions-javascript-runtime-20.html

const own = Object.prototype.hasOwnProperty;

/** Whether `key` is an own property of `o` (never one inherited, such as "constructor" or "__proto__"). */
export function hasOwn(o: object, key: string): boolean {
  return own.call(o, key);
}
