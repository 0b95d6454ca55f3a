FROM busybox
ENV MY_NAME="John Doe"
ENV MY_DOG=Rex\ The\ Dog
ENV MY_CAT=fluffy
ENV MY_NAME="John Doe" MY_DOG=Rex\ The\ Dog \
    MY_CAT=fluffy
ENV MY_VAR my-value
ENV ONE TWO= THREE=world
ENV EMPTY=
ENV PATH=/opt/bin:$PATH QUOTED='single $x' MIXED=a"b c"d
