import{a,b,c,d}from"./chunk-GRCRXN6L.js";import"./chunk-65NDCFFU.js";export{d as css,b as cssCompletionSource,c as cssLanguage,a as defineCSSCompletionSource};
