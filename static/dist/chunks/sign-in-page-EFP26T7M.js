import{a,b,c,d,e,f,g}from"./chunk-JRYBU265.js";import"./chunk-EIY6BACA.js";export{d as emailForm,b as failure,c as languageChoice,a as pageTitle,e as signInCard,g as signInLinkPage,f as signInPage};
