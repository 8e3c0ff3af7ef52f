"""A custom user model (log in by e-mail) and one aggregate, ``Widget``."""

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager
from django.db import models


class MemberManager(BaseUserManager):
    def create_user(self, email, password=None, **extra):
        member = self.model(email=self.normalize_email(email), **extra)
        member.set_password(password)
        member.save(using=self._db)
        return member


class Member(AbstractBaseUser):
    email = models.EmailField(unique=True)
    team = models.CharField(max_length=30, default="blue")
    is_active = models.BooleanField(default=True)

    USERNAME_FIELD = "email"
    objects = MemberManager()


class Widget(models.Model):
    name = models.CharField(max_length=50)
    colour = models.CharField(max_length=20, default="grey")
