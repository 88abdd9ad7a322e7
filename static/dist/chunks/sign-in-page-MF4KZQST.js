import{a,b,c,d,e,f,g}from"./chunk-JH6MPHYU.js";import"./chunk-A6WDZWQG.js";export{d as emailForm,b as failure,c as languageChoice,a as pageTitle,e as signInCard,g as signInLinkPage,f as signInPage};
